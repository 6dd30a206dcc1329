"""Community: favorites, likes, ratings, reviews with votes, comments, and their moderation."""
