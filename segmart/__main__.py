import sys

from segmart.cli import main

sys.exit(main())
