package rosnode
