import sys

print("FLOOD START")
for _ in range(20):
    sys.stdout.write("x" * 1_000_000 + "\n")
    sys.stderr.write("y" * 1_000_000 + "\n")
print("FLOOD END", flush=True)
# <<base>>
