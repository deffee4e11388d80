"""The scripted end-to-end demo behind `costbot demo`."""
