"""The HMI screens, following the ISA-101 display hierarchy."""
