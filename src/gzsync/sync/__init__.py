"""gzsync.sync"""
