"""``python -m clinic_staff`` serves the staff page; ``python -m clinic_staff hash-password``
prints a hash to put in the password file instead of the password itself."""

from clinic_staff.server import main

if __name__ == "__main__":
    main()
