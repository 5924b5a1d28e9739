import sys

from components.checks.cli import main

sys.exit(main())
