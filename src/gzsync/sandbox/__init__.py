"""gzsync.sandbox"""
