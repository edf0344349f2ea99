// Package invariants switches on expensive internal consistency checks in
// builds with the `invariants` tag, which `make test` sets. In other builds
// Enabled is a false constant and the checks compile away.
package invariants
