"""gzsync.mapping"""
