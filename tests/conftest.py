import sys
from pathlib import Path

# Plain helper modules (factories, fixtures_models) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))
