"""commerce/platform"""
