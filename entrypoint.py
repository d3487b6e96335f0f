"""The Docker action's entrypoint: everything happens in imagegen.action."""

import sys

from imagegen.action import main

if __name__ == "__main__":
    sys.exit(main())
