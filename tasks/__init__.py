"""Task plugins: one module (or small package) per benchmark family."""
