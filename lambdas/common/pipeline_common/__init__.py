"""Code shared by the four pipeline Lambdas (deployed as the CommonLayer SAM layer)."""
