"""yishi's benchmarks: `python -m bench` (see the README). They print figures; they are
not tests."""
