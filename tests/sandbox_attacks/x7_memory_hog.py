"""Exhausts memory: one huge allocation, a huge tensor, and filling the RAM-backed /tmp."""
SQUARE = None
CELLS = [
    "hog = bytearray(8 * 1024 ** 3)",
    "import torch\n"
    "hog = torch.ones(3 * 1024 ** 3, dtype=torch.uint8)",
    "with open('/tmp/fill', 'wb') as f:\n"
    "    for _ in range(1024):\n"
    "        f.write(b'x' * 1024 ** 2)",
]
SCORE = None
REFUSED = ["MemoryError", "llocate memory", "No space left on device"]
FEEDBACK = []
NEVER = []
