"""The grader's side of the pipe: read a run's frames with caps, and check each case's outputs.

The graded code shares the harness's process, so whatever arrives may be hostile: a frame larger
than it may be, a flood of frames, an .npz whose members inflate to gigabytes or whose .npy
header lies about its shape. Nothing is read past the caps of tools/grading/channel.py, and an
output's declared sizes, dtypes and shapes are checked before a byte of it is inflated.
"""
import io
import json
import math
import os
import select
import threading
import zipfile

import numpy as np

from .channel import (
    HEADER,
    KINDS,
    MAX_ARRAYS,
    MAX_DATA,
    MAX_KEPT,
    MAX_MESSAGES,
    MAX_META,
    MAX_OUTPUTS,
    MAX_RECEIVED,
)

NUMBER_KINDS = 'biuf'  # bool, integers, floats: what a case's outputs may hold


class Refused(Exception):
    """What a run sent breaks a cap or is not what the harness sends; the message says how."""


def mib(size):
    return f"{size / (1 << 20):g} MiB"


class Budget:
    """What one submission may still send, over all of its runs."""

    def __init__(self):
        self.messages, self.received, self.kept = 0, 0, 0

    def receive(self, size):
        self.received += size
        if self.received > MAX_RECEIVED:
            raise Refused(f"it sent more than {mib(MAX_RECEIVED)} to the grader")

    def message(self):
        self.messages += 1
        if self.messages > MAX_MESSAGES:
            raise Refused(f"it sent more than {MAX_MESSAGES} messages to the grader")

    def keep(self, size):
        if self.kept + size > MAX_KEPT:
            raise Refused(f"its outputs came to more than {mib(MAX_KEPT)} in all")
        self.kept += size


class Reader:
    """Splits the bytes of a pipe into frames (kind, meta dict, data bytes)."""

    def __init__(self, budget):
        self.budget, self.buffer = budget, bytearray()

    def feed(self, chunk):
        """Yields the frames completed by chunk, in order; Refused at one that breaks a cap
        (after those before it)."""
        self.budget.receive(len(chunk))
        self.buffer += chunk
        while len(self.buffer) >= HEADER.size:
            kind, meta_size, data_size = HEADER.unpack_from(self.buffer)
            if kind not in KINDS:
                raise Refused(f"it wrote bytes on the grader's pipe that are not a message "
                              f"(kind {kind!r})")
            if meta_size > MAX_META or data_size > MAX_DATA:
                raise Refused(f"it sent a message of {meta_size + data_size} bytes; one case's "
                              f"outputs may take {mib(MAX_DATA)}")
            end = HEADER.size + meta_size + data_size
            if len(self.buffer) < end:
                break
            self.budget.message()
            try:
                meta = json.loads(bytes(self.buffer[HEADER.size:HEADER.size + meta_size]))
            except (ValueError, RecursionError):
                meta = None
            if not isinstance(meta, dict):
                raise Refused("it sent a message whose header is not a JSON object")
            data = bytes(self.buffer[HEADER.size + meta_size:end])
            del self.buffer[:end]
            yield kind, meta, data


def unpack_arrays(data, budget):
    """{name: array} of an .npz sent by a run; Refused naming what is wrong with it.

    The zip's directory, each member's declared size, and each .npy header (dtype, shape) are
    checked before anything is inflated; a member is never read past its declared size.
    """
    stream = io.BytesIO(data)
    try:
        end = zipfile._EndRecData(stream)  # the zip's end record, read before its directory
    except OSError:
        end = None
    if end is None:
        raise Refused("its outputs are not an .npz")
    if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ARRAYS:
        raise Refused(f"its outputs hold {end[zipfile._ECD_ENTRIES_TOTAL]} arrays; a case has "
                      f"at most {MAX_ARRAYS}")
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            declared = sum(member.file_size for member in members)
            if len(members) > MAX_ARRAYS or declared > MAX_OUTPUTS:
                raise Refused(f"its outputs would take {declared} bytes once inflated; one "
                              f"case's outputs may take {mib(MAX_OUTPUTS)}")
            budget.keep(declared)
            return {member.filename[:-4]: _read_member(archive, member) for member in members}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
            NotImplementedError, RuntimeError, TypeError, KeyError, SyntaxError) as err:
        raise Refused(f"its outputs could not be read ({type(err).__name__}: "
                      f"{str(err)[:200]})") from None


def _read_member(archive, member):
    """One .npy member as an array, its header checked against its declared size first."""
    if not member.filename.endswith('.npy') or len(member.filename) > 100:
        raise Refused(f"its outputs hold {member.filename[:100]!r}, not an array")
    if member.flag_bits & 0x1:
        raise Refused(f"its output {member.filename} is encrypted")
    with archive.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise Refused(f"its output {member.filename} has .npy version {version}")
        shape, fortran_order, dtype = read_header(stream, max_header_size=MAX_META)
        if dtype.hasobject or dtype.kind not in NUMBER_KINDS or dtype.fields is not None:
            raise Refused(f"its output {member.filename} holds {dtype}, not numbers")
        size = math.prod(shape) * dtype.itemsize
        if stream.tell() + size != member.file_size:
            raise Refused(f"the header of its output {member.filename} says {dtype} of shape "
                          f"{shape}, which does not fit its {member.file_size} bytes")
        payload = stream.read(size)
    if len(payload) != size:
        raise Refused(f"its output {member.filename} ends early")
    array = np.frombuffer(payload, dtype=dtype)
    return array.reshape(shape, order='F' if fortran_order else 'C')


class Pump:
    """Reads one run's pipe in a thread of its own, passing each frame to handle(kind, meta,
    data). The first cap broken, or the first frame handle refuses, ends the reading: the
    reason is in .error (the grader then stops the run)."""

    def __init__(self, fd, handle, budget):
        self.fd, self.handle, self.budget = fd, handle, budget
        self.error = None
        self.done, self.stopping = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        reader, poller = Reader(self.budget), select.poll()
        poller.register(self.fd, select.POLLIN)
        try:
            while not self.stopping.is_set():
                if not poller.poll(100):
                    continue
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    break  # every writer has gone
                for kind, meta, data in reader.feed(chunk):
                    self.handle(kind, meta, data)
        except Refused as err:
            self.error = str(err)
        except OSError:
            pass
        except Exception as err:  # noqa: B902  whatever arrives must not kill the grader
            self.error = f"its messages could not be read ({type(err).__name__})"
        finally:
            self.done.set()

    def finish(self, timeout=2.0):
        """Read what is left in the pipe for up to timeout seconds, then stop and close it."""
        self.done.wait(timeout)
        self.stopping.set()
        self.thread.join()
        os.close(self.fd)
