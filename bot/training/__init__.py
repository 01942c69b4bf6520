"""Training: micro-lessons, quizzes and spaced repetition."""
