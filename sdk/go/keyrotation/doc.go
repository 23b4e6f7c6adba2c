// Rotate AWS IAM user access keys with Pulumi: keys rotate on a time trigger, old and new keys overlap, and the old key is deactivated and deleted only once unused.
package keyrotation
