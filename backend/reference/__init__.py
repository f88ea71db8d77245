"""Reference data: regions and preferential categories, in Kazakh, Russian and English."""
