"""Instructor-only checks import the tools in tools/ (which the student release leaves out)."""
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(KIT / 'tools'))
