import os
import subprocess
import sys

SLEEPER = [sys.executable, '-c', 'import time; time.sleep(600)', '@MARKER@']
subprocess.Popen(SLEEPER)
subprocess.Popen(SLEEPER, start_new_session=True)
if os.fork() == 0:  # a daemon: fork, new session, fork again, and the middle one exits
    os.setsid()
    if os.fork() == 0:
        os.execv(SLEEPER[0], SLEEPER)
    os._exit(0)
# <<base>>
