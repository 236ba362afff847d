import sys
print(f"hello from {sys.prefix} (python {sys.version_info.major}.{sys.version_info.minor})")
