"""gzsync.galaxy"""
