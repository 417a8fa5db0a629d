"""What the grader reads, it reads within bounds: a submission (tools/grading/submissions.py)
and what a run sends back on its pipe (channel.py, outputs.py, and the grader's Run)."""
import io
import os
import stat
import struct
import time
import tracemalloc
import zipfile
import zlib
from types import SimpleNamespace

import numpy as np
import pytest

from tools.grading import channel, official, rules, submissions
from tools.grading.grader import Run, remove_tree
from tools.grading.outputs import Budget, Reader, Refused, unpack_arrays
from tools.grading.rubric import DEFAULT_RUBRIC, Rubric

LIMITS = Rubric(DEFAULT_RUBRIC, official.TESTS, rules.RULES).limits  # the kit's own

SOLUTION = {'loss.py': b'# loss\n', 'optimizer.py': b'# optimizer\n'}


# -- a submission --------------------------------------------------------------------------------

def write_zip(path, members):
    with zipfile.ZipFile(path, 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def raw_zip(members):
    """The bytes of a zip written by hand, headers saying whatever members say: each a dict
    with name (bytes), data (as stored), and optionally method (0 stored, 8 deflated), crc,
    size (declared, inflated), flags and mode (Unix file type and permissions)."""
    local, central = b'', b''
    for member in members:
        name, data = member['name'], member['data']
        fields = (member.get('flags', 0), member.get('method', 0), 0, 0,
                  member.get('crc', zlib.crc32(data)), len(data), member.get('size', len(data)),
                  len(name), 0)
        central += struct.pack('<4s6H3I5H2I', b'PK\x01\x02', 0x031e, 20, *fields, 0, 0, 0,
                               member.get('mode', 0o100644) << 16, len(local)) + name
        local += struct.pack('<4s5H3I2H', b'PK\x03\x04', 20, *fields) + name + data
    end = struct.pack('<4s4H2IH', b'PK\x05\x06', 0, 0, len(members), len(members),
                      len(central), len(local), 0)
    return local + central + end


def deep_folder(top, levels):
    """top/d/d/.../d, levels deep, made without recursion; returns the deepest folder."""
    path = top
    for _ in range(levels):
        path = path / 'd'
        path.mkdir()
    return path


def test_zip_entries_that_could_escape_or_hide_are_skipped_and_named(tmp_path):
    members = [{'name': name.encode(), 'data': data} for name, data in SOLUTION.items()]
    members += [{'name': b'/abs/x.py', 'data': b''}, {'name': b'a/../../up.py', 'data': b''},
                {'name': b'helper.py', 'data': b'/etc/passwd', 'mode': stat.S_IFLNK | 0o777},
                {'name': b'secret.py', 'data': b'', 'flags': 0x1},
                {'name': b'twice.py', 'data': b'1'}, {'name': b'twice.py', 'data': b'2'}]
    (tmp_path / 'ann.zip').write_bytes(raw_zip(members))
    read = submissions.Submission(tmp_path / 'ann.zip').read()
    assert read.files == SOLUTION
    problems = '\n'.join(read.problems)
    for text in ("'/abs/x.py' was skipped: its path is absolute",
                 "'a/../../up.py' was skipped: its path holds '..'",
                 "'helper.py' was skipped: it is a symlink",
                 "'secret.py' was skipped: it is encrypted",
                 "the zip holds 'twice.py' 2 times; none was read"):
        assert text in problems


def test_a_zip_of_too_many_entries_is_refused_from_its_end_record(tmp_path):
    write_zip(tmp_path / 'many.zip', {**SOLUTION, **{f'junk/{n}': b'' for n in
                                                     range(submissions.MAX_ENTRIES + 1)}})
    read = submissions.Submission(tmp_path / 'many.zip').read()
    assert read.files == {} and f"more than the {submissions.MAX_ENTRIES}" in read.problems[0]


def test_a_zip_without_the_utf8_flag_is_read(tmp_path):
    folder = '作业/'.encode('gbk')  # "homework", as a Chinese Windows zip tool writes it
    (tmp_path / 'ann.zip').write_bytes(raw_zip([{'name': folder + name.encode(), 'data': data}
                                                for name, data in SOLUTION.items()]))
    assert not zipfile.ZipFile(tmp_path / 'ann.zip').infolist()[0].flag_bits & 0x800
    read = submissions.Submission(tmp_path / 'ann.zip').read()
    assert read.files == SOLUTION and read.problems == []


def test_bytes_are_counted_as_read_and_bounded_in_all(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, 'MAX_SUBMISSION_BYTES', 3000)
    (tmp_path / 'ann').mkdir()
    for name, data in {**SOLUTION, 'a.py': b'#' * 1000, 'b.py': b'#' * 1000,
                       'c.py': b'#' * 1000}.items():
        (tmp_path / 'ann' / name).write_bytes(data)
    read = submissions.Submission(tmp_path / 'ann').read()
    assert {'loss.py', 'optimizer.py'} <= set(read.files) and len(read.files) == 4
    assert "c.py was not read: the files read came to over" in read.problems[0]


def test_a_folder_is_walked_within_bounds_and_never_out_through_a_link(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, 'MAX_ENTRIES', 50)
    (tmp_path / 'outside.py').write_bytes(b'# not the student\'s')
    ann = tmp_path / 'ann'
    ann.mkdir()
    (ann / 'loss.py').write_bytes(SOLUTION['loss.py'])
    (ann / 'optimizer.py').symlink_to(tmp_path / 'outside.py')
    (ann / 'everything').symlink_to('/', target_is_directory=True)
    os.mkfifo(ann / 'helper.py')
    for number in range(60):
        (ann / f'junk{number}.txt').write_bytes(b'')
    read = submissions.Submission(ann).read()
    assert read.files == {'loss.py': SOLUTION['loss.py']}
    assert any('more than 50 files and folders' in problem for problem in read.problems)
    assert any('optimizer.py is missing' in problem for problem in read.problems)


def test_a_thousand_levels_of_folders_and_names_that_are_not_utf8(tmp_path):
    ann = tmp_path / 'ann'
    ann.mkdir()
    for name, data in SOLUTION.items():
        (ann / name).write_bytes(data)
    (ann / os.fsdecode(b'bad\xff.py')).write_bytes(b'')
    deep_folder(ann, 1000)
    try:
        assert submissions.is_submission(ann)
        [found] = submissions.find([ann])
        read = found.read()
        assert read.files == SOLUTION
        assert any("a file name that is not UTF-8 was skipped: b'bad\\xff.py'" in problem
                   for problem in read.problems)
        assert any(f"folders deeper than {submissions.MAX_DEPTH} levels were not looked at"
                   in problem for problem in read.problems)
    finally:
        remove_tree(ann / 'd')
    assert not (ann / 'd').exists()


def test_submission_names_that_are_not_utf8_stay_apart(tmp_path):
    for raw in (b'stu\xffdent', b'stu\xfedent'):
        folder = tmp_path / 'class' / os.fsdecode(raw)
        folder.mkdir(parents=True)
        (folder / 'loss.py').write_bytes(b'')
    names = [submission.name for submission in submissions.find([tmp_path / 'class'])]
    assert len(set(names)) == 2 and all(name.startswith('stu_dent-') for name in names)


# -- what a run sends ----------------------------------------------------------------------------

def npz(**arrays):
    return channel.pack_arrays(np, arrays)


def test_outputs_come_back_as_they_were_sent():
    arrays = {'loss': np.float64(0.5), 'W': np.arange(6, dtype=np.float32).reshape(2, 3).T}
    got = unpack_arrays(npz(**arrays), Budget())
    assert set(got) == {'loss', 'W'} and got['W'].dtype == np.float32
    np.testing.assert_array_equal(got['W'], arrays['W'])


def zipped(name, data, **fields):
    return raw_zip([{'name': name.encode(), 'data': data, **fields}])


def npy_header(shape, descr='<f8'):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {'descr': descr, 'fortran_order': False,
                                                  'shape': shape})
    return header.getvalue()


def zip_bomb():
    """A member of 64 MiB of zeros, deflated to about 64 KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open('loss.npy', 'w', force_zip64=True) as member:
            member.write(npy_header((8 << 20,)))
            for _ in range(64):
                member.write(bytes(1 << 20))
    return buffer.getvalue()


def deflated(data):
    squeeze = zlib.compressobj(1, zlib.DEFLATED, -15)
    return squeeze.compress(data) + squeeze.flush()


BAD_OUTPUTS = {
    'zip bomb': (zip_bomb, "its outputs would take 67108992 bytes once inflated"),
    'lying header': (lambda: zipped('loss.npy', npy_header((10 ** 12,)) + bytes(8)),
                     "which does not fit its 136 bytes"),
    'objects': (lambda: zipped('loss.npy', npy_header((2,), '|O') + bytes(16)),
                "holds object, not numbers"),
    'complex': (lambda: zipped('loss.npy', npy_header((2,), '<c16') + bytes(32)),
                "holds complex128, not numbers"),
    'encrypted': (lambda: zipped('loss.npy', npy_header((2,)) + bytes(16), flags=0x1),
                  "is encrypted"),
    'not an array': (lambda: zipped('loss.txt', b'1'), "not an array"),
    'not a zip': (lambda: b'PK but not a zip', "not an .npz"),
    'too many': (lambda: npz(**{f'a{n}': np.zeros(1) for n in range(20)}),
                 "hold 20 arrays; a case has at most 16"),
}


@pytest.mark.parametrize('kind', BAD_OUTPUTS)
def test_outputs_that_would_balloon_or_lie_are_refused_before_they_are_inflated(kind):
    make, why = BAD_OUTPUTS[kind]
    with pytest.raises(Refused) as refused:
        unpack_arrays(make(), Budget())
    assert why in str(refused.value)


def test_a_member_is_never_inflated_past_its_declared_size():
    """Its headers say one number (136 bytes); its data inflates to 64 MiB."""
    start = npy_header((1,)) + bytes(8)
    bomb = zipped('loss.npy', deflated(start + bytes(64 << 20)), method=8,
                  crc=zlib.crc32(start), size=len(start))
    tracemalloc.start()
    try:
        got = unpack_arrays(bomb, Budget())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got['loss'].shape == (1,) and peak < 1 << 20


def test_the_outputs_kept_for_one_submission_are_bounded():
    budget, one = Budget(), npz(W=np.zeros((1 << 20) // 8 * 15))  # 15 MiB
    for _ in range(channel.MAX_KEPT // (15 << 20)):
        unpack_arrays(one, budget)
    with pytest.raises(Refused, match='more than 64 MiB in all'):
        unpack_arrays(one, budget)


def test_frames_before_a_bad_one_are_kept_and_the_bad_one_refused():
    reader = Reader(Budget())
    good = channel.frame(channel.START, {'case': 'a'}) + channel.frame(channel.END)
    frames = []
    with pytest.raises(Refused, match='a message of 1073741826 bytes'):
        for found in reader.feed(good + channel.HEADER.pack(channel.RESULT, 2, 1 << 30) + b'{}'):
            frames.append(found)
    assert [kind for kind, _, _ in frames] == [channel.START, channel.END]
    with pytest.raises(Refused, match='not a message'):
        list(Reader(Budget()).feed(b'hello, grader'))


def test_a_flood_of_messages_is_cut_off():
    reader, stage = Reader(Budget()), channel.frame(channel.STAGE, {'stage': 'forward'})
    with pytest.raises(Refused, match=f'more than {channel.MAX_MESSAGES} messages'):
        for _ in range(channel.MAX_MESSAGES + 1):
            list(reader.feed(stage))


def test_a_run_starts_cases_in_order_once_each_whatever_it_is_told():
    cases = [SimpleNamespace(name=name) for name in ('a', 'b', 'c')]
    run = Run('loss', cases, Budget(), LIMITS, time.monotonic() + 100)
    result = npz(loss=np.zeros(1))

    def send(kind, **meta):
        run.handle(kind, meta, result if kind == channel.RESULT else b'')

    send(channel.START, case='a')
    started = run.since
    for name in ('a', 'b', 'c', 'a'):  # forged: the clock must not move
        send(channel.START, case=name)
    send(channel.STAGE, stage='anything at all')
    assert (run.current, run.since, run.stage) == ('a', started, 'starting')
    send(channel.RESULT, case='c')  # not started: ignored
    send(channel.RESULT, case='a', error='first')
    send(channel.RESULT, case='a', error='second')  # once only
    assert set(run.results) == {'a'} and run.results['a'][1] == 'first'
    send(channel.START, case='c')
    send(channel.START, case='b')
    send(channel.STAGE, stage='forward')
    assert (run.current, run.stage) == ('b', 'forward')
    run.since -= LIMITS['seconds_per_test'] + 1
    assert run.overdue(None) and run.verb == 'hung'
