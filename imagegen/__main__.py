"""`python -m imagegen` is the `imagegen` command."""

from imagegen.cli import main

raise SystemExit(main())
