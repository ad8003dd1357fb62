"""SDK import path ``copilot.generated``: re-exports only."""
