"""`python -m archdsl.train train|eval|predict ...`: what torchrun starts for
`archdsl train --nproc N`, and a way to run the commands before they are
registered with `archdsl`."""
import sys

from archdsl.cli.train import main

sys.exit(main())
