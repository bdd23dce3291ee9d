"""The emulator's own control API (`/_emulator`): health, reset, inspection, virtual clock."""
