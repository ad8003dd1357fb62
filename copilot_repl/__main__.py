from copilot_repl.cli import run

run()
