import sys
from pathlib import Path

# Test modules import shared helpers (oracle, randomnet, test_cases) by name.
sys.path.insert(0, str(Path(__file__).parent))
