"""Benchmark: the kit's loading and training beside the per-sample way and this machine's limits.

    python -m bench.run                     # prints a table, writes bench/results.json
    OMP_NUM_THREADS=2 python -m bench.run   # the same with two BLAS threads (the kit uses one)

Each figure is the minimum and the median over several repetitions: on a shared machine the
minimum is the least disturbed one. The default run and its memory are measured in child
processes (a fresh interpreter each, as `python solver.py` has). numpy and the standard library
only; the per-sample baseline is bench/baseline.py.
"""
from kit.threads import every_blas  # first: it sets the kit's default, one thread

import argparse
import contextlib
import ctypes
import gzip
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

import dataloader
import solver
from bench import baseline
from kit import idx

KIT = Path(__file__).resolve().parent.parent
IDX_NAMES = list(idx.MNIST_SHA256)
SPLITS = ('train', 'val', 'test')
PHASES = ('data', 'forward', 'backward', 'update')
MB = 1e6
# The speed targets (on a 2-core machine), checked at the end of the table:
# name: (what, comparison, bound).
TARGETS = {
    'epoch_s': ('an epoch of the kit (s)', '<=', 0.08),
    'epoch_baseline_over_kit': ('epoch: baseline / kit', '>=', 3.5),
    'run_s': ('default run, whole process (s)', '<', 1.5),
    'load_over_inflation': ('load from .gz: kit / inflation alone', '<=', 1.5),
    'load_baseline_over_kit': ('load: baseline / kit', '>=', 10),
    'peak_mb': ('peak memory of the default run (MB)', '<', 400),
}
RATIO_LABELS = {
    'load_kit_over_inflation': 'load from .gz: kit / inflation alone',
    'load_kit_over_bound': 'load from .gz: kit / its limit',
    'load_baseline_over_kit': 'load: baseline / kit',
    'epoch_kit_over_bound': 'epoch: kit / its limit',
    'epoch_baseline_over_kit': 'epoch: baseline / kit',
    'run_baseline_over_kit': 'default run: baseline / kit',
    'peak_baseline_over_kit': 'peak memory: baseline / kit',
}
COMPARE = {'<': float.__lt__, '<=': float.__le__, '>=': float.__ge__}


# --- measuring ---------------------------------------------------------------------------------

def timed(fn, repeat):
    """Seconds of each of `repeat` calls of fn()."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def stats(seconds):
    return {'min': min(seconds), 'median': statistics.median(seconds), 'n': len(seconds)}


def memory_mb():
    """{'rss': now, 'peak': the highest so far} of this process, in MB (None where unknown)."""
    status = Path('/proc/self/status')
    if status.exists():
        fields = dict(line.split(':', 1) for line in status.read_text().splitlines() if ':' in line)
        return {'rss': int(fields['VmRSS'].split()[0]) * 1024 / MB,
                'peak': int(fields['VmHWM'].split()[0]) * 1024 / MB}
    try:
        import resource
    except ImportError:  # Windows
        return {'rss': None, 'peak': None}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return {'rss': None, 'peak': peak * (1 if sys.platform == 'darwin' else 1024) / MB}


def blas_info():
    """BLAS library and the number of threads it uses, asked of OpenBLAS itself if possible."""
    info = {'name': '?', 'version': '?', 'threads': None, 'threads_from': ''}
    try:
        blas = np.show_config(mode='dicts')['Build Dependencies']['blas']
        info.update(name=blas.get('name', '?'), version=blas.get('version', '?'))
    except Exception:  # numpy < 1.25 has no mode='dicts'
        pass
    maps = Path('/proc/self/maps')
    libraries = sorted({line.split()[-1] for line in maps.read_text().splitlines()
                        if 'openblas' in line.lower()}) if maps.exists() else []
    for library in libraries:
        try:
            library = ctypes.CDLL(library)
        except OSError:
            continue
        for symbol in ('scipy_openblas_get_num_threads64_', 'openblas_get_num_threads64_',
                       'scipy_openblas_get_num_threads', 'openblas_get_num_threads'):
            function = getattr(library, symbol, None)
            if function is not None:
                info.update(threads=int(function()), threads_from=f'{symbol}() of OpenBLAS')
                return info
    for variable in ('OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'OMP_NUM_THREADS'):
        if os.environ.get(variable, '').isdigit():
            info.update(threads=int(os.environ[variable]), threads_from=variable)
            return info
    info.update(threads=os.cpu_count(), threads_from='assumed: one per core, as BLAS does')
    return info


def machine_info():
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path('/proc/cpuinfo')
    if cpuinfo.exists():
        names = [line.split(':', 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith('model name')]
        cpu = names[0] if names else cpu
    return {'cpu': cpu, 'cores': os.cpu_count(), 'system': platform.system(),
            'python': platform.python_version(), 'numpy': np.__version__, 'blas': blas_info()}


# --- data loading ------------------------------------------------------------------------------

def copy_data(data_root, folder, raw):
    """Copy the four IDX files into folder, all .gz or (raw=True) all decompressed."""
    folder.mkdir()
    for name in IDX_NAMES:
        source = idx.find_idx_file(data_root, name)
        data = source.read_bytes()
        if raw:
            (folder / name).write_bytes(gzip.decompress(data) if source.suffix == '.gz' else data)
        else:
            (folder / (name + '.gz')).write_bytes(data if source.suffix == '.gz' else
                                                  gzip.compress(data, 9))
    return folder


def load_with_kit(data_root):
    """The three splits as Dataset serves them, from nothing cached."""
    idx.inflate_cached.cache_clear()
    return [dataloader.Dataset(data_root, mode) for mode in SPLITS]


def inflate_all(compressed):
    """gzip inflation alone, zlib told the output size (its fastest call); the bytes inflated."""
    return sum(len(zlib.decompress(data, wbits=31, bufsize=int.from_bytes(data[-4:], 'little')))
               for data in compressed)


def measure_loading(gz_root, raw_root, repeat):
    compressed = [path.read_bytes() for path in sorted(gz_root.iterdir())]
    return {
        'kit_gz': stats(timed(lambda: load_with_kit(gz_root), repeat)),
        'kit_raw': stats(timed(lambda: load_with_kit(raw_root), repeat)),
        'baseline_gz': stats(timed(lambda: baseline.load(gz_root), 1)),
        'inflation': stats(timed(lambda: inflate_all(compressed), repeat)),
        'gzip_decompress': stats(timed(lambda: [gzip.decompress(data) for data in compressed],
                                       repeat)),
        'inflated_mb': inflate_all(compressed) / MB,
    }


# --- one epoch ---------------------------------------------------------------------------------

def phase_epoch(loader, model, optimizer):
    """One epoch with each phase timed on its own: {'data', 'forward', 'backward', 'update'}."""
    clock = time.perf_counter
    totals = dict.fromkeys(PHASES, 0.0)
    batches = iter(loader)
    while True:
        start = clock()
        try:
            images, labels = next(batches)
        except StopIteration:
            break
        fetched = clock()
        model.forward(images, labels)
        forwarded = clock()
        model.gradient_computing()
        backwarded = clock()
        optimizer.step()
        updated = clock()
        totals['data'] += fetched - start
        totals['forward'] += forwarded - fetched
        totals['backward'] += backwarded - forwarded
        totals['update'] += updated - backwarded
    return totals


def phase_stats(loader, model, optimizer, repeat):
    epochs = [phase_epoch(loader, model, optimizer) for _ in range(repeat)]
    return {phase: stats([epoch[phase] for epoch in epochs]) for phase in epochs[0]}


def kit_epochs(cfg, repeat):
    """Solver.train's own epoch_times over `repeat` epochs, then as many epochs phase by phase."""
    runner = solver.Solver({**cfg, 'max_epoch': repeat}, log=None)
    runner.train()
    phases = phase_stats(runner.train_loader, runner.model, runner.optimizer, repeat)
    return runner, {'epoch': stats(runner.epoch_times), 'phases': phases,
                    'num_batches': len(runner.train_loader)}


def limits(train_images, batch_size, num_classes, repeat):
    """Matrix products at the epoch's shapes, the bandwidth of copying the training set, and
    two ways of gathering an epoch's batches of images."""
    rng = np.random.default_rng(0)
    x = train_images[rng.permutation(len(train_images))[:batch_size]]
    W = rng.standard_normal((x.shape[1], num_classes)).astype(np.float32)
    grad = rng.standard_normal((batch_size, num_classes)).astype(np.float32)
    calls = 200

    def per_call(fn):
        return stats([seconds / calls for seconds in
                      timed(lambda: [fn() for _ in range(calls)], repeat)])

    target = np.empty_like(train_images)
    copy = stats(timed(lambda: np.copyto(target, train_images), repeat))
    target = None  # free the copy: the gathers below need the memory
    order = rng.permutation(len(train_images))
    starts = range(0, len(train_images), batch_size)

    def gather_batches():  # what the kit does: one fancy index per batch
        for start in starts:
            train_images[order[start:start + batch_size]]

    def slice_permuted_copy():  # the alternative: one fancy index per epoch, then slices
        shuffled = train_images[order]
        for start in starts:
            shuffled[start:start + batch_size]

    return {'gather_batches': stats(timed(gather_batches, repeat)),
            'slice_permuted_copy': stats(timed(slice_permuted_copy, repeat)),
            'forward_matmul': per_call(lambda: x @ W),
            'backward_matmul': per_call(lambda: x.T @ grad),
            'matmul_flops': 2 * x.shape[0] * x.shape[1] * num_classes,
            'copy_train_set': copy, 'train_set_mb': train_images.nbytes / MB,
            'bandwidth_gb_s': 2 * train_images.nbytes / copy['min'] / 1e9}


# --- the default run, in a child process -------------------------------------------------------

def child_kit_run(data_root):
    """What `python solver.py` does, with memory and time noted after each stage."""
    start = time.perf_counter()
    stages = {}

    def note(stage):
        stages[stage] = {**memory_mb(), 'seconds': time.perf_counter() - start}

    note('after imports')
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _, cfg = solver.parse_cfg(['--data_root', str(data_root)])
        runner = solver.Solver(cfg)
        note('Solver built: train, val loaded')
        runner.train()
        note('trained: 10 epochs, validations')
        _, test_acc = runner.test()
        print(solver.TEST_LOG.format(acc=test_acc))
    note('tested: test split loaded')
    printed = out.getvalue().splitlines()[-1]
    held = {f'{mode} {name}': getattr(loader.dataset, name).nbytes / MB
            for mode, loader in (('train', runner.train_loader), ('val', runner.val_loader),
                                 ('test', runner.test_loader))
            for name in ('images', 'labels')}
    # inflate_cached keeps the training files, compressed (as its keys) and decompressed, from
    # the train split to the val split and on until the test files take their place
    paths = [idx.find_idx_file(data_root, name)
             for name in dataloader.SPLIT_FILES['train']]
    held['training files in inflate cache'] = sum(
        path.stat().st_size + int.from_bytes(path.read_bytes()[-4:], 'little')
        for path in paths if path.suffix == '.gz') / MB
    last = stages['tested: test split loaded']
    return {'seconds': last['seconds'], 'printed': printed,
            'test_accuracy': float(printed.split()[-1]), 'epoch_times': runner.epoch_times,
            'stages': stages, 'held_mb': held, 'peak_mb': last['peak']}


def child_baseline_run(data_root):
    """The default run done the slow way, each epoch timed phase by phase."""
    cfg = solver.DEFAULT_CFG
    start = time.perf_counter()
    data = baseline.load(data_root)
    loaded = time.perf_counter() - start
    run = baseline.Run(data, cfg['max_epoch'], cfg['batch_size'], cfg['learning_rate'],
                       cfg['momentum'], cfg['seed'])
    epochs = []
    for _ in range(cfg['max_epoch']):
        epoch_start = time.perf_counter()
        phases = phase_epoch(run.train_loader, run.model, run.optimizer)
        epochs.append({'epoch': time.perf_counter() - epoch_start, **phases})
        run.evaluate('val')
    _, test_acc = run.evaluate('test')
    return {'seconds': time.perf_counter() - start, 'load_seconds': loaded, 'epochs': epochs,
            'test_accuracy': float(test_acc), 'peak_mb': memory_mb()['peak']}


def child_kit_epochs(data_root, repeat):
    runner = solver.Solver({'data_root': str(data_root), 'max_epoch': repeat}, log=None)
    runner.train()
    return {'epoch': stats(runner.epoch_times), 'blas': blas_info()}


CHILDREN = {'kit-run': child_kit_run, 'baseline-run': child_baseline_run,
            'kit-epochs': child_kit_epochs}


def in_child(kind, data_root, repeat=1, env=None):
    """Run this script as `--child kind` in a fresh interpreter; its result and wall time."""
    command = [sys.executable, '-m', 'bench.run', '--child', kind,
               '--data_root', str(data_root), '--repeat', str(repeat)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=KIT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f'bench child {kind} failed:\n{done.stderr}')
    return {**json.loads(done.stdout.splitlines()[-1]), 'process_seconds': seconds}


def thread_env(threads):
    """This environment with every BLAS thread-count variable set to threads."""
    return {**os.environ, **every_blas(threads)}


# --- the whole benchmark -----------------------------------------------------------------------

def measure(data_root, repeat, runs):
    """Every figure of the benchmark, as a dict (what results.json holds)."""
    cfg = {'data_root': str(data_root)}
    results = {'machine': machine_info(), 'repeat': repeat, 'cfg': solver.check_cfg(cfg),
               'load_average_before': load_average()}
    cfg = results['cfg']
    with tempfile.TemporaryDirectory() as temp:
        gz_root = copy_data(data_root, Path(temp) / 'gz', raw=False)
        raw_root = copy_data(data_root, Path(temp) / 'raw', raw=True)
        results['load'] = measure_loading(gz_root, raw_root, repeat)

    runner, results['epoch_kit'] = kit_epochs(cfg, repeat)
    train_images = runner.train_loader.dataset.images
    results['limits'] = limits(train_images, cfg['batch_size'], runner.model.num_output, repeat)
    del runner, train_images

    # The kit's other choice of BLAS threads, for comparison: one per core if it runs with one.
    threads = results['machine']['blas']['threads']
    other = os.cpu_count() if threads == 1 else 1
    if other != threads:
        epochs = in_child('kit-epochs', data_root, repeat, env=thread_env(other))
        results['epoch_kit_other_threads'] = {**epochs['epoch'],
                                              'threads': epochs['blas']['threads']}
        other_run = in_child('kit-run', data_root, env=thread_env(other))
        results['run_kit_other_threads'] = {'process': stats([other_run['process_seconds']]),
                                            'test_accuracy': other_run['test_accuracy'],
                                            'threads': other}
    kit_runs = [in_child('kit-run', data_root) for _ in range(runs)]
    results['run_kit'] = {
        'process': stats([run['process_seconds'] for run in kit_runs]),
        'in_process': stats([run['seconds'] for run in kit_runs]),
        'test_accuracy': sorted({run['test_accuracy'] for run in kit_runs}),
        'peak_mb': max((run['peak_mb'] for run in kit_runs), key=lambda mb: mb or 0),
        'fastest': min(kit_runs, key=lambda run: run['process_seconds'])}
    base_run = in_child('baseline-run', data_root)
    results['run_baseline'] = {'process': stats([base_run['process_seconds']]), **base_run}
    results['load']['baseline_gz'] = stats([results['load']['baseline_gz']['min'],
                                            base_run['load_seconds']])
    epochs = base_run['epochs']
    results['epoch_baseline'] = {
        'epoch': stats([epoch['epoch'] for epoch in epochs]),
        'phases': {phase: stats([epoch[phase] for epoch in epochs]) for phase in PHASES}}
    results['load_average_after'] = load_average()
    derive(results)
    return results


def load_average():
    """The system's 1-minute load average (None where unknown): how busy the machine was."""
    return os.getloadavg()[0] if hasattr(os, 'getloadavg') else None


def derive(results):
    """The least an epoch and a load could take on this machine, and the ratios."""
    load, lim = results['load'], results['limits']
    num_batches = results['epoch_kit']['num_batches']
    # an epoch: its two matrix products per batch, plus reading every training image once
    # (a copy of the training set: each image is read and written into a batch)
    lim['epoch_bound_s'] = (num_batches * (lim['forward_matmul']['min'] +
                                           lim['backward_matmul']['min']) +
                            lim['copy_train_set']['min'])
    # a load: inflation, plus reading the uint8 pixels once and writing them as float32
    pixels = load['inflated_mb'] * MB
    lim['load_bound_s'] = load['inflation']['min'] + 5 * pixels / (lim['bandwidth_gb_s'] * 1e9)
    kit_load, kit_epoch = load['kit_gz']['min'], results['epoch_kit']['epoch']['min']
    results['ratios'] = {
        'load_kit_over_inflation': kit_load / load['inflation']['min'],
        'load_kit_over_bound': kit_load / lim['load_bound_s'],
        'load_baseline_over_kit': load['baseline_gz']['min'] / kit_load,
        'epoch_kit_over_bound': kit_epoch / lim['epoch_bound_s'],
        'epoch_baseline_over_kit': results['epoch_baseline']['epoch']['min'] / kit_epoch,
        'run_baseline_over_kit': (results['run_baseline']['process']['min'] /
                                  results['run_kit']['process']['min']),
        'peak_baseline_over_kit': (results['run_baseline']['peak_mb'] /
                                   results['run_kit']['peak_mb']
                                   if results['run_kit']['peak_mb'] else float('nan')),
    }
    ratios = results['ratios']
    got = {'epoch_s': kit_epoch, 'run_s': results['run_kit']['process']['min'],
           'peak_mb': results['run_kit']['peak_mb'],
           'epoch_baseline_over_kit': ratios['epoch_baseline_over_kit'],
           'load_over_inflation': ratios['load_kit_over_inflation'],
           'load_baseline_over_kit': ratios['load_baseline_over_kit']}
    results['targets'] = {  # a peak memory of None (unknown, on Windows) is not met
        name: {'value': got[name], 'met': got[name] is not None and
               COMPARE[sign](float(got[name]), bound)}
        for name, (_, sign, bound) in TARGETS.items()}


# --- the table ---------------------------------------------------------------------------------

def table(results):
    """The printed report, one line per figure."""
    m, load, lim = results['machine'], results['load'], results['limits']
    kit, base = results['epoch_kit'], results['epoch_baseline']
    run, base_run, ratios = results['run_kit'], results['run_baseline'], results['ratios']
    blas = m['blas']
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, {m['system']}; Python {m['python']}, "
             f"numpy {m['numpy']}, {blas['name']} {blas['version']} with {blas['threads']} "
             f"thread(s) ({blas['threads_from']})",
             f"load average (1 min) before / after: {results['load_average_before'] or 0:.2f} / "
             f"{results['load_average_after'] or 0:.2f}",
             f"{'seconds, over n repetitions':<48}{'min':>9} {'median':>9} {'n':>3}"]

    def row(label, s, note='', unit=1.0):
        lines.append(f"  {label:<46}{s['min'] / unit:>9.4f} {s['median'] / unit:>9.4f} "
                     f"{s['n']:>3}  {note}".rstrip())

    def value(label, text):
        lines.append(f"  {label:<46}{text}")

    lines.append('Data loading: the four IDX files into the arrays Dataset serves')
    row('kit, from .gz', load['kit_gz'])
    row('kit, from raw *-ubyte', load['kit_raw'])
    row('per-sample baseline, from .gz', load['baseline_gz'])
    row('limit: gzip inflation alone', load['inflation'],
        f"{load['inflated_mb']:.1f} MB at "
        f"{load['inflated_mb'] / load['inflation']['min']:.0f} MB/s")
    row('  (gzip.decompress, for comparison)', load['gzip_decompress'])
    value('limit: inflation + writing the float32', f"{lim['load_bound_s']:>9.4f}")
    lines.append(f"One epoch: {kit['num_batches']} batches of {results['cfg']['batch_size']}")
    row('kit (Solver.train epoch_times)', kit['epoch'])
    for phase, s in kit['phases'].items():
        row(f'  {phase}', s)
    if 'epoch_kit_other_threads' in results:
        other = results['epoch_kit_other_threads']
        row(f"kit with {other['threads']} BLAS thread(s) (child process)", other)
    row('images of an epoch: a fancy index per batch', lim['gather_batches'], 'as the kit does')
    row('images of an epoch: slices of a permuted copy', lim['slice_permuted_copy'])
    row('per-sample baseline (its default run)', base['epoch'])
    for phase, s in base['phases'].items():
        row(f'  {phase}', s)
    flops = lim['matmul_flops']
    for name in ('forward', 'backward'):
        s = lim[f'{name}_matmul']
        row(f'limit: {name} product of one batch (us)', s,
            f"{flops / s['min'] / 1e9:.0f} GFLOP/s", unit=1e-6)
    row('limit: copy of the training set', lim['copy_train_set'],
        f"{lim['train_set_mb']:.1f} MB, {lim['bandwidth_gb_s']:.1f} GB/s read+write")
    value('limit: an epoch (its products + one copy)', f"{lim['epoch_bound_s']:>9.4f}")
    lines.append('Default run (python solver.py: 10 epochs, validation each epoch, test)')
    row('kit, whole process', run['process'])
    row('kit, from Solver(cfg) to test() done', run['in_process'])
    if 'run_kit_other_threads' in results:
        other = results['run_kit_other_threads']
        row(f"kit with {other['threads']} BLAS thread(s), whole process", other['process'])
    row('per-sample baseline, whole process', base_run['process'])
    value('test accuracy, kit / baseline', ', '.join(f'{a:.4f}' for a in run['test_accuracy']) +
          f" / {base_run['test_accuracy']:.4f}")
    value('peak resident memory, kit / baseline', f"{run['peak_mb'] or float('nan'):.0f} MB / "
          f"{base_run['peak_mb'] or float('nan'):.0f} MB")
    lines.append("Where the kit's memory goes (MB): resident and peak after each stage")
    for stage, s in run['fastest']['stages'].items():
        value(f"{stage} (at {s['seconds']:.2f} s)", f"{s['rss'] or 0:>9.1f} {s['peak'] or 0:>9.1f}")
    for name, mb in run['fastest']['held_mb'].items():
        value(f'  held: {name}', f'{mb:>9.1f}')
    lines.append('Ratios')
    for name, ratio in ratios.items():
        value(RATIO_LABELS[name], f'{ratio:>9.2f}')
    lines.append('Targets')
    for name, (what, sign, bound) in TARGETS.items():
        target = results['targets'][name]
        value(what, f"{target['value'] or float('nan'):>9.3f}  target {sign} {bound}: "
                    f"{'met' if target['met'] else 'NOT MET'}")
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data_root', default=solver.DEFAULT_CFG['data_root'])
    parser.add_argument('--repeat', type=int, default=5, help='repetitions of each figure')
    parser.add_argument('--runs', type=int, default=3, help='default runs of the kit')
    parser.add_argument('--out', type=Path, default=KIT / 'bench' / 'results.json')
    parser.add_argument('--child', choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child = CHILDREN[args.child]
        result = child(args.data_root, args.repeat) if args.child == 'kit-epochs' else \
            child(args.data_root)
        print(json.dumps(result))
        return result
    start = time.perf_counter()
    results = measure(args.data_root, args.repeat, args.runs)
    results['bench_seconds'] = time.perf_counter() - start
    args.out.write_text(json.dumps(results, indent=1) + '\n')
    print(table(results))
    print(f"\n{results['bench_seconds']:.0f} s in all; wrote {args.out}")
    return results


if __name__ == '__main__':
    main()
