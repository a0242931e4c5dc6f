// Package configs embeds the example configuration, which `coordbot init`
// writes as the skeleton of a new configuration file.
package configs

import _ "embed"

// Example is configs/coordbot.example.toml.
//
//go:embed coordbot.example.toml
var Example []byte
