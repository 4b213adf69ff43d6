"""gzsync.zoho"""
