import sys

from zkactors.cli import main

sys.exit(main())
