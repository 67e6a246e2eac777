"""``python -m rewardgym`` = the ``rewardgym`` command."""

from rewardgym.cli import main

main()
