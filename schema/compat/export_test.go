package compat

// Samples gives the black-box tests the instance generator, which is not
// part of the package's API.
var Samples = samples
