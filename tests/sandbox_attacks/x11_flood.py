"""Prints and writes without end: 200 MB to stdout, a file bigger than the sandbox's /tmp."""
SQUARE = None
CELLS = [
    "line = 'x' * 1000\n"
    "for _ in range(200_000):\n"
    "    print(line)",
    "with open('big.bin', 'wb') as f:\n"
    "    for _ in range(900):\n"
    "        f.write(b'x' * 1024 ** 2)",
]
SCORE = None
REFUSED = ["No space left on device"]
FEEDBACK = []
NEVER = ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]
