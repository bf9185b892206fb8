"""commerce"""
