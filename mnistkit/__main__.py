"""Command line: ``python -m mnistkit COMMAND`` (run ``python -m mnistkit --help``)."""

import argparse
import sys
from pathlib import Path

from mnistkit.course import COURSE_ROOT, NbgraderError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mnistkit", description=__doc__.split(":")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="grade the bundled demo class end to end and print the grades")
    demo.add_argument("--course", type=Path, default=COURSE_ROOT, help="course directory (default: this one)")
    arguments = parser.parse_args(argv)

    try:
        if arguments.command == "demo":
            from mnistkit.demo import grade_demo_class

            grade_demo_class(arguments.course.resolve())
    except NbgraderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
