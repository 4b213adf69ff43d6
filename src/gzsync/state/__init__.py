"""gzsync.state"""
