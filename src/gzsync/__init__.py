"""gzsync: one-way, incremental sync of Galaxy ERP customers into Zoho CRM."""

__version__ = "0.1.0"
