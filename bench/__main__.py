"""`python -m bench` (what `make bench` runs): every benchmark in turn."""
from . import notifications

if __name__ == "__main__":
    notifications.main()
