"""crime"""
