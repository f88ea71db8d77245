"""Digital-literacy help articles for citizens and registry-desk staff, in kk, ru and en."""
