"""`bench report`: statistics, tables and plots built from run directories alone (never from a live system)."""
