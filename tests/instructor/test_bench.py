"""bench/run.py at a tiny size: its functions run and write sane JSON. No timing is checked:
speed is the benchmark's to report, not a test's."""
import json
import math

from bench import run as bench
from idx_helpers import write_dataset


def test_benchmark_runs_and_writes_sane_results(tmp_path, capsys):
    root = tmp_path / 'data'
    write_dataset(root, n_train=5600, n_test=300, num_classes=3, shape=(4, 5))
    out = tmp_path / 'results.json'
    bench.main(['--data_root', str(root), '--repeat', '2', '--runs', '1', '--out', str(out)])
    results = json.loads(out.read_text())

    def timings(node, path=''):
        """Every {'min', 'median', 'n'} in the results, with where it is."""
        if isinstance(node, dict):
            if set(node) == {'min', 'median', 'n'}:
                yield path, node
            for key, child in node.items():
                yield from timings(child, f'{path}/{key}')

    found = dict(timings(results))
    for section in ('/load/kit_gz', '/load/kit_raw', '/load/inflation', '/load/baseline_gz',
                    '/epoch_kit/epoch', '/epoch_kit/phases/data', '/epoch_kit/phases/forward',
                    '/epoch_kit/phases/backward', '/epoch_kit/phases/update',
                    '/epoch_baseline/epoch', '/limits/forward_matmul', '/limits/copy_train_set',
                    '/limits/gather_batches', '/limits/slice_permuted_copy',
                    '/run_kit/process', '/run_baseline/process'):
        assert section in found, section
    for path, timing in found.items():
        assert 0 < timing['min'] <= timing['median'] < 60 and timing['n'] >= 1, (path, timing)

    assert results['epoch_kit']['num_batches'] == 6  # 600 training images in batches of 100
    assert results['machine']['blas']['threads'] >= 1
    kit_accuracy = results['run_kit']['test_accuracy']
    assert len(kit_accuracy) == 1 and 0 <= kit_accuracy[0] <= 1
    # the per-sample baseline is the same algorithm: float64 and float32 agree on the test set
    assert abs(results['run_baseline']['test_accuracy'] - kit_accuracy[0]) <= 1 / 300
    # the thread count changes the speed, not the result
    assert results['run_kit_other_threads']['test_accuracy'] == kit_accuracy[0]
    peak = results['run_kit']['peak_mb']
    after_imports = results['run_kit']['fastest']['stages']['after imports']['rss']
    assert peak is None or peak > after_imports > 0
    ratios = results['ratios']
    assert math.isclose(ratios['load_kit_over_inflation'],
                        found['/load/kit_gz']['min'] / found['/load/inflation']['min'])
    assert math.isclose(ratios['epoch_baseline_over_kit'], found['/epoch_baseline/epoch']['min'] /
                        found['/epoch_kit/epoch']['min'])
    assert 0 < results['limits']['epoch_bound_s'] and 0 < results['limits']['load_bound_s']
    assert set(results['targets']) == set(bench.TARGETS)
    printed = capsys.readouterr().out
    assert '\nTargets\n' in printed and str(out) in printed
