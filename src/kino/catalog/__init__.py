"""Movies, people and credits, genres, countries, languages, and search."""
