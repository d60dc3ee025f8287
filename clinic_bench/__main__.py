"""`python -m clinic_bench`: the `make bench` run (clinic_bench/ours_vs_stock.py)."""

import sys

from clinic_bench.ours_vs_stock import main

sys.exit(main())
