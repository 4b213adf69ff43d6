"""gzsync.catalyst"""
